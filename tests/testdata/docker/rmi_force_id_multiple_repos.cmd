docker rmi -f 85f8dd08026e
