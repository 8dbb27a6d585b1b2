docker tag example/app:v1 busybox:byid
