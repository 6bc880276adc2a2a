// Package linuxvm boots a Go program as the only process of a minimal Linux
// guest under QEMU, on the same virtual machine a mote image uses: the
// baseline that mote's benchmarks and `mote compare` measure mote against.
//
// The pieces, each usable alone:
//
//   - Kernel fetches a Debian cloud kernel and its virtio-net modules into a
//     cache (apt-get download, nothing installed).
//   - BuildInit compiles the guest's init (package guestinit) and Initramfs
//     packs it with the app and the modules into a newc cpio archive.
//   - Command gives the QEMU command line; ExitStatus decodes the app's exit
//     status from QEMU's; HostTSCkHz feeds tsc_early_khz.
//
// The app's argv, environment and network settings travel on the kernel
// command line (package bootparam). A typical boot:
//
//	kf, _ := linuxvm.Kernel(ctx, linuxvm.KernelOptions{})
//	linuxvm.BuildInit(ctx, "init")
//	linuxvm.Initramfs("initrd", linuxvm.InitramfsConfig{Init: "init", App: "hello", Modules: kf.Modules})
//	khz, _ := linuxvm.HostTSCkHz()
//	argv, _ := linuxvm.Command(linuxvm.VM{Kernel: kf.Vmlinuz, Initrd: "initrd", TSCkHz: khz,
//		Boot: bootparam.Config{Args: []string{"hello"}}})
//	status, err := linuxvm.ExitStatus(exec.Command(argv[0], argv[1:]...).Run())
package linuxvm
