docker load -i x-badlayer.tar
