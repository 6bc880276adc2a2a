// Command fetch gets each URL it is given and prints the status and body, or the error.
package main

import (
	"fmt"
	"io"
	"net/http"
	"os"
)

func main() {
	failed := false
	for _, url := range os.Args[1:] {
		resp, err := http.Get(url)
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
