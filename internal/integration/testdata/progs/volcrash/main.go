// Volcrash appends numbered records to a file on a volume for a crash test: volcrash append
// FILE appends "N\n" for N = 1, 2, ... forever, syncing each (fdatasync) and printing N once
// the sync returned; volcrash check FILE reads the file back and prints how many records it
// holds, or an error if they are not 1..N in order.
package main

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
)

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: volcrash append|check FILE")
		os.Exit(2)
	}
	switch os.Args[1] {
	case "append":
		f, err := os.OpenFile(os.Args[2], os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
		if err != nil {
			fmt.Println("error:", err)
			os.Exit(1)
		}
		for n := 1; ; n++ {
			if _, err := fmt.Fprintf(f, "%d\n", n); err != nil {
				fmt.Println("error:", err)
				os.Exit(1)
			}
			if err := f.Sync(); err != nil {
				fmt.Println("error:", err)
				os.Exit(1)
			}
			fmt.Println(n)
		}
	case "check":
		f, err := os.Open(os.Args[2])
		if err != nil {
			fmt.Println("error:", err)
			os.Exit(1)
		}
		sc := bufio.NewScanner(f)
		n := 0
		for sc.Scan() {
			line := strings.TrimSpace(sc.Text())
			if v, err := strconv.Atoi(line); err != nil || v != n+1 {
				fmt.Printf("error: record %d is %q\n", n+1, line)
				os.Exit(1)
			}
			n++
		}
		fmt.Printf("records %d\n", n)
	}
}
