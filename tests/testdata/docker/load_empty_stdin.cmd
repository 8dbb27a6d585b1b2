docker load
