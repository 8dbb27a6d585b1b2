docker tag busybox:latest 'bad$name:x'
