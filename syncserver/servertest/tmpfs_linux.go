//go:build linux

package servertest

import (
	"os"
	"syscall"
	"testing"
)

// Tmpfs is a small tmpfs a test mounted, to run out of disk on purpose.
type Tmpfs struct {
	// Dir is where it is mounted.
	Dir string
}

// MountTmpfs mounts a tmpfs of size (as mount(8) takes it: "4m") on a
// fresh directory and unmounts it when the test ends. It skips the test
// when mounting is not allowed here (not root, no CAP_SYS_ADMIN).
func MountTmpfs(t testing.TB, size string) *Tmpfs {
	t.Helper()
	dir := t.TempDir()
	if os.Geteuid() != 0 {
		t.Skip("needs root to mount a small tmpfs")
	}
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, "size="+size); err != nil {
		t.Skipf("cannot mount a tmpfs here (%v)", err)
	}
	t.Cleanup(func() {
		if err := syscall.Unmount(dir, syscall.MNT_DETACH); err != nil {
			t.Errorf("unmount %s: %v", dir, err)
		}
	})
	return &Tmpfs{Dir: dir}
}

// Remount mounts it again with flags (syscall.MS_RDONLY, ...) and size
// ("" keeps it), keeping its files.
func (m *Tmpfs) Remount(t testing.TB, flags uintptr, size string) {
	t.Helper()
	data := ""
	if size != "" {
		data = "size=" + size
	}
	if err := syscall.Mount("tmpfs", m.Dir, "tmpfs", syscall.MS_REMOUNT|flags, data); err != nil {
		t.Fatalf("remount %s: %v", m.Dir, err)
	}
}
