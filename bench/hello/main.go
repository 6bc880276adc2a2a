// Command hello is the program the boot benchmark runs on each side: it
// prints one line and exits 0, so what is measured is the platform.
package main

import "fmt"

func main() {
	fmt.Println("hello")
}
