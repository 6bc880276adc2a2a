package testpkg

import (
	"os"
	"testing"
)

func TestX(t *testing.T) {
	if _, err := os.ReadFile("testdata/input.txt"); err != nil {
		t.Fatal(err)
	}
}
