docker load -i nosuchfile.tar
