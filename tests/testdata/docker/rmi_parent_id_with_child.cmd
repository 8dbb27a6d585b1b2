docker rmi 85f8dd08026e
