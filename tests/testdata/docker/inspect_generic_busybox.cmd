docker inspect busybox:latest
