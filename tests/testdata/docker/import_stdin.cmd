docker import -c 'CMD ["/bin/sh"]' - localhost:5000/x/y:1.0 < busybox.tar
