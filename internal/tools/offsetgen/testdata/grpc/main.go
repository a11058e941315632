// Command grpc links the grpc-go server and client paths the probes read.
// It is only built (internal/tools/offsetgen), never run.
package main

import (
	"context"
	"net"
	"os"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"
)

func main() {
	if len(os.Args) < 2 {
		return
	}
	lis, _ := net.Listen("tcp", os.Args[1])
	s := grpc.NewServer()
	healthpb.RegisterHealthServer(s, health.NewServer())
	go s.Serve(lis)
	cc, _ := grpc.Dial(os.Args[1], grpc.WithTransportCredentials(insecure.NewCredentials()))
	ctx := metadata.NewOutgoingContext(context.Background(), metadata.Pairs("a", "b"))
	_, err := healthpb.NewHealthClient(cc).Check(ctx, &healthpb.HealthCheckRequest{})
	md, _ := metadata.FromIncomingContext(ctx)
	p, _ := peer.FromContext(ctx)
	println(status.Code(err), len(md), p != nil)
}
