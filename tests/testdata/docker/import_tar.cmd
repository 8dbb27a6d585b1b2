docker import -c 'CMD ["/bin/sh"]' busybox.tar busybox:latest
