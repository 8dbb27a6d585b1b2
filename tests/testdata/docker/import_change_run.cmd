docker import -c 'RUN x' busybox.tar bad:run
