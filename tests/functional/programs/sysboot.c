/*
 * What a guest with CAP_SYS_BOOT may try beyond reboot and power off:
 * load a kernel (kexec_load, kexec_file_load) and the other commands of
 * reboot(2). Prints one line per call: its name and errno's name, or "ok".
 * Built statically by the tests and copied into a guest.
 */
#include <errno.h>
#include <stdio.h>
#include <unistd.h>
#include <sys/syscall.h>
#include <linux/reboot.h>

static const char *result(long r)
{
    if (r == 0)
        return "ok";
    switch (errno) {
    case EPERM: return "EPERM";
    case EINVAL: return "EINVAL";
    case ENOSYS: return "ENOSYS";
    case EBADF: return "EBADF";
    default: return "other";
    }
}

int main(void)
{
    static const struct { const char *name; unsigned int cmd; } cmds[] = {
        {"CAD_ON", LINUX_REBOOT_CMD_CAD_ON},
        {"CAD_OFF", LINUX_REBOOT_CMD_CAD_OFF},
        {"KEXEC", LINUX_REBOOT_CMD_KEXEC},
        {"SW_SUSPEND", LINUX_REBOOT_CMD_SW_SUSPEND},
    };
    long r;
    unsigned int i;

    /*
     * Arguments the kernel refuses (too many segments, no files) only
     * after its permission check: EINVAL or EBADF would say that the
     * call was allowed, EPERM that it was not, and nothing is loaded.
     */
    r = syscall(SYS_kexec_load, 0UL, 17UL, NULL, 0UL);
    printf("kexec_load %s\n", result(r));
    r = syscall(SYS_kexec_file_load, -1, -1, 0UL, "", 0UL);
    printf("kexec_file_load %s\n", result(r));
    for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
        r = syscall(SYS_reboot, LINUX_REBOOT_MAGIC1, LINUX_REBOOT_MAGIC2,
                    cmds[i].cmd, NULL);
        printf("reboot_%s %s\n", cmds[i].name, result(r));
    }
    return 0;
}
