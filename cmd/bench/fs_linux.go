package main

import "syscall"

// fsType names the file system holding path (the middlewares' state
// folders are below it), or "" if it is not one of the usual ones.
func fsType(path string) string {
	var st syscall.Statfs_t
	if syscall.Statfs(path, &st) != nil {
		return ""
	}
	// Magic numbers from linux/magic.h.
	switch uint32(st.Type) {
	case 0xEF53:
		return "ext4" // ext2, ext3 and ext4 share it
	case 0x01021994:
		return "tmpfs"
	case 0x58465342:
		return "xfs"
	case 0x9123683E:
		return "btrfs"
	case 0x794C7630:
		return "overlayfs"
	case 0x2FC12FC1:
		return "zfs"
	case 0x6969:
		return "nfs"
	}
	return ""
}
