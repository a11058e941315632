package auto_test

import (
	"context"
	"log"
	"os/signal"
	"syscall"

	"github.com/sonde-go/auto"
)

// Instrument the process whose PID is given, configured by the
// environment; the explicit options win over it.
func ExampleNewInstrumentation() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	inst, err := auto.NewInstrumentation(ctx, auto.WithEnv(), auto.WithPID(1234), auto.WithServiceName("checkout"))
	if err != nil {
		log.Fatal(err)
	}
	defer inst.Close()
	if err := inst.Load(ctx); err != nil {
		log.Fatal(err)
	}
	if err := inst.Run(ctx); err != nil {
		log.Print(err)
	}
}

// Probe settings are named by their environment variable (see the list in
// the package documentation). Database spans carry their statement, its
// literals masked, by default: this turns that off.
func ExampleWithSetting() {
	inst, err := auto.NewInstrumentation(context.Background(),
		auto.WithTarget("/usr/local/bin/todo"),
		auto.WithSetting("OTEL_GO_AUTO_INCLUDE_DB_STATEMENT", "false"),
	)
	if err != nil {
		log.Fatal(err)
	}
	defer inst.Close()
}
