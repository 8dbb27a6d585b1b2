docker rmi busybox:latest
