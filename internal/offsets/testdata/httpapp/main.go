// Command httpapp is a fixture: a net/http server.
package main

import (
	"fmt"
	"net/http"
	"os"
)

func main() {
	http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, r.Method, r.URL.Path)
	})
	if err := http.ListenAndServe("127.0.0.1:0", nil); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
