docker tag busybox:latest 'busybox:t@g'
