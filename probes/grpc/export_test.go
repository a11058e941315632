package grpc

// For the tests of package grpc_test.
var (
	RuntimeType     = runtimeType
	MemberKind      = memberKind
	ServerStreamEmb = serverStreamEmb
)
