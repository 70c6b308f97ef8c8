/* forkprobe: forks once and execs /bin/true from the child, allocating in
 * the child first when asked; it exists to show that the allocator shim
 * (harness/shims/forkalloc.c) sees what it must and nothing else. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	char *const args[] = {"/bin/true", NULL};
	int status;
	pid_t pid;

	if (argc != 2 || (strcmp(argv[1], "alloc") && strcmp(argv[1], "clean"))) {
		fprintf(stderr, "usage: forkprobe alloc|clean\n"
				"Forks; the child execs /bin/true, allocating first "
				"with 'alloc'.  Exit status: the child's.\n");
		return argc == 2 && !strcmp(argv[1], "--help") ? 0 : 2;
	}
	pid = fork();
	if (pid == 0) {
		if (!strcmp(argv[1], "alloc")) {
			/* what a careless child does: build its argv after fork */
			char *arg = malloc(64);
			char *const built[] = {"/bin/true", arg, NULL};

			if (arg)
				snprintf(arg, 64, "--built-after-fork");
			execv(built[0], arg ? built : args);
			_exit(127);
		}
		execv(args[0], args);
		_exit(127);
	}
	if (pid < 0 || waitpid(pid, &status, 0) != pid)
		return 1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}
