docker load -i x-tiny-nolayer.tar
