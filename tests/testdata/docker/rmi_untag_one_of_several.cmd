docker rmi busybox:alias
