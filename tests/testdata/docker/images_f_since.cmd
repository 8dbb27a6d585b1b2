docker images --filter since=busybox
