docker image inspect busybox:latest nosuch:latest
