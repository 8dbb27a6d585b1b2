docker load -i truncated.tar
