// Command caddy is Caddy's own main (cmd/caddy/main.go of
// github.com/caddyserver/caddy/v2), built by TestCaddyStripped against the
// release fetched through the module proxy.
package main

import (
	caddycmd "github.com/caddyserver/caddy/v2/cmd"

	_ "github.com/caddyserver/caddy/v2/modules/standard"
)

func main() {
	caddycmd.Main()
}
