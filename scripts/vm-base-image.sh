#!/usr/bin/env bash
# Make sure the base disk for the VM bake (Packer's qemu.app source) exists.
#
#   scripts/vm-base-image.sh          prints the cache directory holding it
#
# The AMI is baked on a VM, so its stand-in on a machine with no cloud is a
# Debian 12 disk that boots a real kernel under qemu: debootstrap, Debian's
# kernel, GRUB for BIOS boot, systemd, an SSH server for the builder and an
# "admin" user with password-less sudo, as on Debian's AMI. Nothing is
# downloaded but Debian's packages.
#
# Cached by its inputs (this script, the suite, the mirror) for a week at most
# (it carries that day's updates): the directory is
#   ${BAKERY_VM_CACHE:-~/.cache/bakery/vm}/<sha256 of the inputs, 16 hex>/
#     base.qcow2        the disk (4 GiB virtual, one ext4 partition)
#     id_ed25519[.pub]  the build key, authorized for admin
# and a second run only prints it.
#
# No mount, no loop device, no device mapper (this machine has no udev to make
# partition nodes): the root file system is written by `mkfs.ext4 -d` from the
# debootstrap tree and copied into the disk behind a DOS partition table, and
# GRUB's boot sector and core image are written where grub-install would put
# them (sector 0 and the gap before the partition).
set -euo pipefail

suite="bookworm"
mirror="${BAKERY_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
cache_root="${BAKERY_VM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/bakery/vm}"
disk_size_mib=4096
part_start_mib=1

# The packages the bake's playbook installs are baked in already, so the VM
# bake's apt tasks find them present (the bake under software emulation is
# slow; downloading and unpacking them there would dominate it).
packages=(
  linux-image-amd64 grub-pc initramfs-tools udev kmod systemd systemd-sysv dbus
  openssh-server sudo python3 python3-apt ca-certificates tzdata procps
  apparmor python3-flask python3-waitress
)

say() { printf 'vm-base-image: %s\n' "$*" >&2; }

key="$(
  {
    cat "$0"
    printf '%s\n' "$suite" "$mirror"
  } | sha256sum | cut -c1-16
)"
dir="$cache_root/$key"
# Also rebuilt once a week: the disk carries the security updates of its day.
max_age_days="${BAKERY_VM_BASE_MAX_AGE_DAYS:-7}"
if [ -f "$dir/id_ed25519" ] && [ -n "$(find "$dir/base.qcow2" -mtime -"$max_age_days" 2>/dev/null)" ]; then
  say "cached: $dir"
  printf '%s\n' "$dir"
  exit 0
fi

for tool in debootstrap mkfs.ext4 parted qemu-img ssh-keygen chroot; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    say "$tool is required (apt-get install debootstrap e2fsprogs parted qemu-utils openssh-client)"
    exit 1
  fi
done

mkdir -p "$cache_root"
work="$(mktemp -d "$cache_root/.build.XXXXXX")"
cleanup() {
  for mounted in proc sys dev; do umount "$work/rootfs/$mounted" 2>/dev/null || true; done
  rm -rf --one-file-system "$work"
}
trap cleanup EXIT
rootfs="$work/rootfs"
started=$SECONDS

say "debootstrap $suite from $mirror (packages: ${packages[*]})"
if ! DEBIAN_FRONTEND=noninteractive debootstrap --variant=minbase \
  --include="$(
    IFS=,
    echo "${packages[*]}"
  )" "$suite" "$rootfs" "$mirror" >"$work/debootstrap.log" 2>&1; then
  tail -n 30 "$work/debootstrap.log" >&2
  exit 1
fi
say "debootstrap done after $((SECONDS - started)) s"

# The release's updates and security fixes, from the same sources the playbook
# writes (roles/base): applied here at native speed, so the bake's full upgrade
# in the VM, under software emulation where KVM does not work, finds nothing
# to do (a kernel update alone costs minutes there).
security_mirror="${BAKERY_DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}"
rm -f "$rootfs/etc/apt/sources.list"
cat >"$rootfs/etc/apt/sources.list.d/debian.sources" <<SOURCES
Types: deb
URIs: $mirror
Suites: $suite $suite-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: $security_mirror
Suites: $suite-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SOURCES
mount -t proc proc "$rootfs/proc"
mount -t sysfs sysfs "$rootfs/sys"
mount --bind /dev "$rootfs/dev"
if ! chroot "$rootfs" env DEBIAN_FRONTEND=noninteractive sh -c \
  'apt-get update -q && apt-get full-upgrade -y -q --no-install-recommends && apt-get autoremove -y -q --purge' \
  >"$work/upgrade.log" 2>&1; then
  tail -n 30 "$work/upgrade.log" >&2
  exit 1
fi
umount "$rootfs/dev" "$rootfs/sys" "$rootfs/proc"
say "updates applied after $((SECONDS - started)) s"

root_uuid="$(cat /proc/sys/kernel/random/uuid)"
# The newest kernel (debootstrap's and, after the updates, maybe a newer one).
kernel="$(cd "$rootfs/boot" && ls vmlinuz-* | sort -V | tail -n 1)"
initrd="initrd.img-${kernel#vmlinuz-}"
[ -f "$rootfs/boot/$initrd" ] || {
  say "no $initrd in the image"
  exit 1
}

# --- configuration of the image -------------------------------------------
cat >"$rootfs/etc/fstab" <<FSTAB
UUID=$root_uuid / ext4 errors=remount-ro 0 1
FSTAB
echo bakery-vm >"$rootfs/etc/hostname"
printf '127.0.0.1 localhost\n127.0.1.1 bakery-vm\n' >"$rootfs/etc/hosts"

# DHCP on the first NIC (qemu's user-mode network: 10.0.2.15, DNS 10.0.2.3).
cat >"$rootfs/etc/systemd/network/80-dhcp.network" <<'NETWORK'
[Match]
Name=en* eth*

[Network]
DHCP=ipv4
NETWORK
ln -sf /lib/systemd/system/systemd-networkd.service "$rootfs/etc/systemd/system/multi-user.target.wants/systemd-networkd.service"
printf 'nameserver 10.0.2.3\n' >"$rootfs/etc/resolv.conf"

# The kernel and systemd talk on the serial console: the bake and the boot
# check read it when a boot goes wrong. update-grub (run by the playbook on the
# VM) keeps these settings.
cat >"$rootfs/etc/default/grub" <<'GRUB'
GRUB_DEFAULT=0
GRUB_TIMEOUT=0
GRUB_DISTRIBUTOR=Debian
GRUB_CMDLINE_LINUX_DEFAULT=""
GRUB_CMDLINE_LINUX="console=ttyS0,115200"
GRUB_TERMINAL=serial
GRUB_SERIAL_COMMAND="serial --speed=115200"
GRUB_DISABLE_OS_PROBER=true
GRUB
# GRUB's boot code is written by this script, not by grub-install: the package's
# maintainer scripts must not try to install it to a device.
echo 'grub-pc grub-pc/install_devices_empty boolean true' | chroot "$rootfs" debconf-set-selections

# The builder's user, as on Debian's AMI: admin, password-less sudo, the build key.
chroot "$rootfs" useradd --create-home --shell /bin/bash --groups sudo admin
printf 'admin ALL=(ALL) NOPASSWD:ALL\n' >"$rootfs/etc/sudoers.d/90-admin"
chmod 0440 "$rootfs/etc/sudoers.d/90-admin"
ssh-keygen -q -t ed25519 -N '' -C bakery-vm-build -f "$work/id_ed25519"
install -d -m 0700 -o 1000 -g 1000 "$rootfs/home/admin/.ssh"
install -m 0600 -o 1000 -g 1000 "$work/id_ed25519.pub" "$rootfs/home/admin/.ssh/authorized_keys"

# Left out of the disk: downloaded packages (the index stays: the bake's apt
# tasks would otherwise refresh it first).
find "$rootfs/var/cache/apt/archives" -name '*.deb' -delete

# --- GRUB for BIOS boot -----------------------------------------------------
# What grub-install --target=i386-pc does: modules under /boot/grub, the core
# image (with the disk, partition and file system drivers) right after the MBR,
# boot.img's code in the MBR. boot.img loads the core image from sector 1 and
# the core image's first sector loads the rest from sector 2 on: those are the
# defaults grub-mkimage leaves in them.
mkdir -p "$rootfs/boot/grub"
cp -r "$rootfs/usr/lib/grub/i386-pc" "$rootfs/boot/grub/i386-pc"
chroot "$rootfs" grub-mkimage -O i386-pc -o /boot/grub/core.img -p '(hd0,msdos1)/boot/grub' \
  biosdisk part_msdos ext2 normal linux search search_fs_uuid
cat >"$rootfs/boot/grub/grub.cfg" <<GRUBCFG
# Replaced by update-grub when the playbook runs on the VM.
serial --speed=115200
terminal_input serial
terminal_output serial
set timeout=0
menuentry 'Debian GNU/Linux' {
  insmod ext2
  search --no-floppy --fs-uuid --set=root $root_uuid
  linux /boot/$kernel root=UUID=$root_uuid ro console=ttyS0,115200
  initrd /boot/$initrd
}
GRUBCFG
core_sectors=$((($(stat -c %s "$rootfs/boot/grub/core.img") + 511) / 512))
if [ "$core_sectors" -ge $((part_start_mib * 2048 - 1)) ]; then
  say "GRUB's core image ($core_sectors sectors) does not fit before the partition"
  exit 1
fi
cp "$rootfs/boot/grub/core.img" "$work/core.img"
cp "$rootfs/usr/lib/grub/i386-pc/boot.img" "$work/boot.img"

# --- the disk ---------------------------------------------------------------
say "writing the disk"
part_mib=$((disk_size_mib - part_start_mib))
mkfs.ext4 -q -F -L bakery-root -U "$root_uuid" -d "$rootfs" "$work/root.ext4" "${part_mib}M" >&2
truncate -s "${disk_size_mib}M" "$work/disk.raw"
parted -s "$work/disk.raw" mklabel msdos mkpart primary ext4 "${part_start_mib}MiB" 100% set 1 boot on
dd if="$work/root.ext4" of="$work/disk.raw" bs=1M seek="$part_start_mib" conv=notrunc,sparse status=none
# 440 bytes: the MBR's boot code, before the disk signature and partition table.
dd if="$work/boot.img" of="$work/disk.raw" bs=440 count=1 conv=notrunc status=none
dd if="$work/core.img" of="$work/disk.raw" bs=512 seek=1 conv=notrunc status=none
qemu-img convert -O qcow2 "$work/disk.raw" "$work/base.qcow2"

mkdir -p "$dir"
mv "$work/id_ed25519" "$work/id_ed25519.pub" "$dir/"
# Last: base.qcow2 present means the directory is complete.
mv "$work/base.qcow2" "$dir/base.qcow2"
# Disks made by earlier versions of this script are never used again.
find "$cache_root" -mindepth 1 -maxdepth 1 -type d ! -name "$key" ! -name '.build.*' -exec rm -rf {} +
say "created $dir in $((SECONDS - started)) s"
printf '%s\n' "$dir"
