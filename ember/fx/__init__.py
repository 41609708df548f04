"""ember.fx"""
