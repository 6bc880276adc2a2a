// Command panic panics in main: Go prints the traceback and exits with status 2.
package main

func main() {
	explode("boom")
}

//go:noinline
func explode(s string) { panic(s) }
