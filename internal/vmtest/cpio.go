package vmtest

import (
	"bufio"
	"fmt"
	"io"
	"path"
	"strings"
)

// cpioWriter writes a "newc" cpio archive, the format the kernel unpacks
// into the initial root file system. Parent directories must be written
// before what they hold.
type cpioWriter struct {
	w   *bufio.Writer
	off int64 // bytes written, for 4-byte alignment
	ino uint32
}

func newCPIOWriter(w io.Writer) *cpioWriter {
	return &cpioWriter{w: bufio.NewWriterSize(w, 1<<20)}
}

// Mode type bits of cpio entries.
const (
	cpioDir  = 0o040000
	cpioReg  = 0o100000
	cpioChar = 0o020000
)

// dir writes a directory entry.
func (c *cpioWriter) dir(name string, perm uint32) error {
	return c.header(name, cpioDir|perm, 0, 0, 0)
}

// charDev writes a character device node.
func (c *cpioWriter) charDev(name string, perm, major, minor uint32) error {
	return c.header(name, cpioChar|perm, 0, major, minor)
}

// file writes a regular file of size bytes read from r.
func (c *cpioWriter) file(name string, perm uint32, size int64, r io.Reader) error {
	if err := c.header(name, cpioReg|perm, size, 0, 0); err != nil {
		return err
	}
	n, err := io.CopyN(c.w, r, size)
	c.off += n
	if err != nil {
		return fmt.Errorf("writing %s to cpio: %w", name, err)
	}
	return c.pad()
}

// close writes the trailer and flushes; it does not close the underlying
// writer.
func (c *cpioWriter) close() error {
	if err := c.header("TRAILER!!!", 0, 0, 0, 0); err != nil {
		return err
	}
	return c.w.Flush()
}

func (c *cpioWriter) header(name string, mode uint32, size int64, rmajor, rminor uint32) error {
	name = strings.TrimPrefix(path.Clean("/"+name), "/")
	if name == "" {
		return fmt.Errorf("writing cpio entry: empty name")
	}
	if size > 0xffffffff {
		return fmt.Errorf("writing %s to cpio: %d bytes is over the format's 4 GiB", name, size)
	}
	c.ino++
	nlink := 1
	if mode&cpioDir != 0 {
		nlink = 2
	}
	// magic, ino, mode, uid, gid, nlink, mtime, filesize, devmajor,
	// devminor, rdevmajor, rdevminor, namesize (with NUL), check.
	hdr := fmt.Sprintf("070701%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x",
		c.ino, mode, 0, 0, nlink, 0, size, 0, 0, rmajor, rminor, len(name)+1, 0)
	n, err := c.w.WriteString(hdr + name + "\x00")
	c.off += int64(n)
	if err != nil {
		return fmt.Errorf("writing cpio header: %w", err)
	}
	return c.pad()
}

// pad aligns the output to 4 bytes.
func (c *cpioWriter) pad() error {
	if r := c.off % 4; r != 0 {
		n, err := c.w.Write(make([]byte, 4-r))
		c.off += int64(n)
		if err != nil {
			return fmt.Errorf("writing cpio padding: %w", err)
		}
	}
	return nil
}
