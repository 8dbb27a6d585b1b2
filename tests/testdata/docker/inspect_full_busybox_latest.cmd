docker image inspect busybox:latest
