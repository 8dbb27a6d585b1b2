docker images busybox example/app
