docker tag busybox busybox:alias
