docker load -i x-nolayer.tar
