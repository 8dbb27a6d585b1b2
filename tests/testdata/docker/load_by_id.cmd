docker load -i byid.tar
