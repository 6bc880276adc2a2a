// Command sleeper prints a line and sleeps: it does not handle SIGTERM, so SIGTERM ends it
// with Linux's default action (exit status 143).
package main

import (
	"fmt"
	"time"
)

func main() {
	fmt.Println("sleeping")
	time.Sleep(time.Hour)
	fmt.Println("woke up")
}
