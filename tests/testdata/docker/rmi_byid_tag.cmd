docker rmi busybox:byid
