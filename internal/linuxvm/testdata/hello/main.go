// Command hello is the app the integration test boots in the Linux guest:
// it prints its argv and environment, with "net" its network setup, and
// exits with the status given as "exit=N". With "serve" it first answers HTTP
// requests on :8080 with "ok", until one asks for /exit.
package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
)

func main() {
	fmt.Printf("hello %q\n", os.Args)
	fmt.Printf("env %q\n", os.Getenv("GREETING"))
	status := 0
	for _, a := range os.Args[1:] {
		if v, ok := strings.CutPrefix(a, "exit="); ok {
			status, _ = strconv.Atoi(v)
		}
		if a == "serve" {
			serve()
		}
		if a == "net" {
			ifs, _ := net.Interfaces()
			for _, i := range ifs {
				addrs, _ := i.Addrs()
				fmt.Printf("if %s %v %v\n", i.Name, i.Flags&net.FlagUp != 0, addrs)
			}
			route, _ := os.ReadFile("/proc/net/route")
			fmt.Printf("route %q\n", route)
			cmdline, _ := os.ReadFile("/proc/cmdline")
			fmt.Printf("cmdline %s", cmdline)
			resolv, _ := os.ReadFile("/etc/resolv.conf")
			fmt.Printf("resolv %q\n", resolv)
		}
	}
	fmt.Fprintln(os.Stderr, "bye")
	os.Exit(status)
}

func serve() {
	ln, err := net.Listen("tcp", ":8080")
	if err != nil {
		fmt.Println("listen:", err)
		os.Exit(1)
	}
	fmt.Println("listening")
	done := make(chan struct{})
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "ok\n")
		if r.URL.Path == "/exit" {
			close(done)
		}
	})}
	go srv.Serve(ln)
	<-done
	srv.Shutdown(context.Background()) // lets the answer go out
	fmt.Println("served")
}
