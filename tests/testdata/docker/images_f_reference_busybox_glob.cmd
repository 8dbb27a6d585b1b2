docker images --filter 'reference=busybox*'
