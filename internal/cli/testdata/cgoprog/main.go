package main

// int two(void) { return 2; }
import "C"

func main() { println(C.two()) }
