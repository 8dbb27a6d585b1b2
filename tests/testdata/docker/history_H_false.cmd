docker history -H=false busybox:latest
