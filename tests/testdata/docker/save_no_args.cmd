docker save
