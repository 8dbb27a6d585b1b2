docker images --filter before=busybox
