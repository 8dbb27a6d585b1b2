docker history busybox:latest
