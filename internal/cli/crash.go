package cli

import (
	"fmt"
	"io"
	"strings"

	"mote.dev/mote/internal/symbolize"
)

// kernelFaultPrefix starts the kernel's record of a fault in the kernel itself.
const kernelFaultPrefix = "mote: kernel fault: "

// printCrashReport symbolizes the backtraces of a crash report (the kernel's "fault" records:
// "backtrace kernel|app" headers, then "pc"/"ret" frames) with the image's own line table.
// For a fault in the kernel it returns the message mote run exits with; "" otherwise.
func printCrashReport(w io.Writer, image string, faults []string) string {
	type section struct {
		what   string
		frames []string
	}
	var (
		sections []section
		crash    string
	)
	for _, f := range faults {
		if what, ok := strings.CutPrefix(f, "backtrace "); ok {
			sections = append(sections, section{what: what})
			continue
		}
		if rest, ok := strings.CutPrefix(f, kernelFaultPrefix); ok && crash == "" {
			crash = rest
			continue
		}
		if _, _, ok := symbolize.Frame(f); ok {
			if len(sections) == 0 { // a kernel that sends no headers
				sections = append(sections, section{what: "app"})
			}
			s := &sections[len(sections)-1]
			s.frames = append(s.frames, f)
		}
	}
	var tab *symbolize.Table
	for _, s := range sections {
		if len(s.frames) == 0 {
			continue
		}
		if tab == nil {
			var err error
			if tab, err = symbolize.Open(image); err != nil {
				fmt.Fprintf(w, "mote: cannot symbolize the backtrace: %v\n", err)
				return crashMessage(crash)
			}
		}
		switch {
		case s.what == "kernel":
			fmt.Fprintln(w, "mote: kernel backtrace:")
		case crash != "":
			fmt.Fprintln(w, "mote: app backtrace, at its system call:")
		default:
			fmt.Fprintln(w, "mote: backtrace:")
		}
		for _, f := range s.frames {
			pc, ret, _ := symbolize.Frame(f)
			where := tab.Describe(pc)
			if ret {
				where = tab.DescribeReturn(pc)
			}
			fmt.Fprintf(w, "\t%#x %s\n", pc, where)
		}
	}
	return crashMessage(crash)
}

func crashMessage(fault string) string {
	if fault == "" {
		return ""
	}
	return "the kernel crashed (" + fault + "); this is a bug in mote's kernel: please report it with the output above"
}
