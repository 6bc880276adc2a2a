// Command hello greets: it prints its arguments and the GREETING environment variable.
//
//	mote run -e GREETING=hi ./examples/hello -- world
package main

import (
	"fmt"
	"os"
	"strings"
)

func main() {
	greeting := os.Getenv("GREETING")
	if greeting == "" {
		greeting = "hello"
	}
	fmt.Printf("%s, %s!\n", greeting, strings.Join(os.Args[1:], " "))
	fmt.Printf("args: %q\n", os.Args[1:])
}
