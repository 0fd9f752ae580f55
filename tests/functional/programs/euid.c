/*
 * What a setuid program gives the user who runs it: prints the real and
 * the effective uid, "<uid> <euid>". The tests copy it into a guest owned
 * by root with mode 4755 and run it as another user.
 */
#include <stdio.h>
#include <unistd.h>

int main(void)
{
    printf("%d %d\n", (int)getuid(), (int)geteuid());
    return 0;
}
