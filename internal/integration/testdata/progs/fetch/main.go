// Command fetch gets each URL it is given and prints the status and body, or the error. With
// FETCH_WAIT set (a duration), it retries a URL that cannot be reached yet until then.
package main

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"time"
)

func main() {
	failed := false
	wait, _ := time.ParseDuration(os.Getenv("FETCH_WAIT"))
	deadline := time.Now().Add(wait)
	for _, url := range os.Args[1:] {
		resp, err := http.Get(url)
		for err != nil && time.Now().Before(deadline) {
			time.Sleep(500 * time.Millisecond)
			resp, err = http.Get(url)
		}
		if err != nil {
			fmt.Println("error:", err)
			failed = true
			continue
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		fmt.Printf("%s %q\n", resp.Status, b)
	}
	if failed {
		os.Exit(1)
	}
}
